// Preloaded with `node --import` for the offline step of the air-gapped e2e test: registers the
// resolve hook below (which refuses the AWS SDK, kms/aws and cli/target, and records every module
// resolved) and makes any outgoing network connection throw.
import { register } from 'node:module';
import net from 'node:net';

register('./airgap-offline-resolve.mjs', import.meta.url);
const deny = () => {
  throw new Error('BLOCKED: the offline step opened a network connection');
};
net.Socket.prototype.connect = deny;
net.connect = deny;
net.createConnection = deny;
