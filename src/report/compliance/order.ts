export * from '../../api/order.js';
