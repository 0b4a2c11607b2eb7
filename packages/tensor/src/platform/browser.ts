/**
 * The browser side of `#platform` (see ./node.ts): there is no file system, so the Node-only paths throw a typed
 * error that says what to pass instead.
 */
import type { NodeFs, NodePath } from './node.ts';
import { NodeOnlyError } from './errors.ts';

export type { NodeFs, NodePath };

export const isNodePlatform = false;

export function nodeFs(what: string): Promise<NodeFs> {
  return Promise.reject(new NodeOnlyError(what));
}

export function nodePath(what: string): Promise<NodePath> {
  return Promise.reject(new NodeOnlyError(what));
}
