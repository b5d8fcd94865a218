export {
  generateSecretKey,
  loadOrCreateSecretKey,
  readSecretKey,
  seal,
  secretKeyPath,
  unseal,
  writeSecretKey,
} from './secret-key.js';
