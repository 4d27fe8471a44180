// PLACEHOLDER: replaced by the app.
export {};
