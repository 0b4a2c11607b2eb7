/** Thrown when a path that needs Node's file system is taken in a browser (or a bundle built for one). */
export class NodeOnlyError extends Error {
  override name = 'NodeOnlyError';
  constructor(what: string) {
    super(`${what} needs Node's file system, which this build (browser) does not have: pass bytes, a Blob/File or a URL instead`);
  }
}
