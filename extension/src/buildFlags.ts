// Constants the build sets (extension/build/config.ts, Vite `define`). Read with typeof so
// modules importing this still load where nothing defined them (tests in Node).
declare const __VIGIL_POLL_SECONDS__: number | undefined;
declare const __VIGIL_TEST_HOOKS__: boolean | undefined;

/** How often the background polls the server from its cursor: 30 s (Chrome's minimum for packed extensions); shorter in test builds. */
export const POLL_SECONDS: number = typeof __VIGIL_POLL_SECONDS__ === 'number' ? __VIGIL_POLL_SECONDS__ : 30;

/** Test builds expose `globalThis.vigilTest` in the service worker (never in `npm run build`). */
export const TEST_HOOKS: boolean = typeof __VIGIL_TEST_HOOKS__ === 'boolean' ? __VIGIL_TEST_HOOKS__ : false;
