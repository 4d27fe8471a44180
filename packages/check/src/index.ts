// PLACEHOLDER: replaced by the checker.
export {};
