export { startGateway, type Gateway } from './app.js';
