// The extension never renders raw HTML: no component uses dangerouslySetInnerHTML. Preact
// still carries the one line that would (`dom.innerHTML = props.dangerouslySetInnerHTML.__html`),
// which `web-ext lint` reports as an unsafe assignment. This build step replaces that
// assignment with an error, so no code path in the bundle can write HTML into a page, and
// the lint is clean. It fails the build if Preact's code no longer has exactly that line
// (a new Preact version: look again rather than ship the warning or a broken bundle).
import type { Plugin } from 'vite';

const PREACT_DIST = /[\\/]node_modules[\\/]preact[\\/]dist[\\/]preact\.mjs$/;
/** `<dom>.innerHTML=<props>.__html`, as preact.mjs (minified) writes it. */
const RAW_HTML_WRITE = /([\w$]+)\.innerHTML=([\w$]+)\.__html/g;

export function noRawHtml(): Plugin {
  return {
    name: 'vigil-no-raw-html',
    apply: 'build',
    transform(code, id) {
      if (!PREACT_DIST.test(id)) return null;
      const writes = code.match(RAW_HTML_WRITE)?.length ?? 0;
      if (writes !== 1) throw new Error(`${id}: expected one innerHTML write in Preact, found ${writes}`);
      return { code: code.replace(RAW_HTML_WRITE, 'void (()=>{throw new Error("dangerouslySetInnerHTML: this extension renders no raw HTML")})()'), map: null };
    },
  };
}
