/**
 * Node's file system for the Node-only paths (reading and writing files). Selected by the `node` condition of the
 * package's `#platform` import (package.json "imports"); browsers and bundlers get ./browser.ts instead, so a bundle
 * never contains `node:*` imports.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export type NodeFs = typeof fs;
export type NodePath = typeof path;

export const isNodePlatform = true;

/** node:fs/promises. */
export function nodeFs(_what: string): Promise<NodeFs> {
  return Promise.resolve(fs);
}

/** node:path. */
export function nodePath(_what: string): Promise<NodePath> {
  return Promise.resolve(path);
}
