export { describeValue, HardenConfigError } from './errors.js';
