// crx3 1.x ships no types; this is the part of its API the server uses.
declare module 'crx3' {
  interface Crx3Options {
    keyPath?: string;
    crxPath?: string;
    zipPath?: string;
    xmlPath?: string;
    crxURL?: string;
    appVersion?: string;
  }
  function crx3(files: string[], options: Crx3Options): Promise<{ appId?: string } & Record<string, unknown>>;
  export default crx3;
}
