export * from '../../api/canonical-json.js';
