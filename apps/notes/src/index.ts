export { type BuildOptions, buildApp } from './app.js';
export { type AppConfig, ConfigError, loadConfig } from './config.js';
