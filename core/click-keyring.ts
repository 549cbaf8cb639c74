// The click-token keyring of a service's --click-keys / --click-key-id settings (the blender signs
// with it, the click filter verifies with it), or one IM_ERR_CONFIG naming the problem.
import { type ClickKeyring, parseClickKeys } from './click-token.js';
import { ImatchError } from './errors.js';

export function keyringOf(config: {
  clickKeys: readonly string[];
  clickKeyId?: string | undefined;
}): ClickKeyring {
  try {
    return parseClickKeys([...config.clickKeys], config.clickKeyId);
  } catch (err) {
    throw new ImatchError(
      'IM_ERR_CONFIG',
      `Invalid configuration: --click-keys / --click-key-id: ${(err as Error).message}`,
    );
  }
}
