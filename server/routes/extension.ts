// GET /extension/*: the extension packages (zips, the signed CRX3) and Chrome's update
// manifest, for installing by hand or by policy. No login: they hold no data.
import express, { type Request } from 'express';
import { updateManifest, type ExtensionPackages } from '../services/extensionPackages.js';

/** This server's address as a browser reaches it (VIGIL_PUBLIC_URL, else the request's own). */
export function publicBaseUrl(req: Request, configured: string | undefined): string {
  return (configured ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`).replace(/\/+$/, '');
}

export const EXTENSION_PATHS = {
  chromeZip: '/extension/vigil-chrome.zip',
  firefoxZip: '/extension/vigil-firefox.zip',
  crx: '/extension/vigil.crx',
  updates: '/extension/updates.xml',
} as const;

export function extensionRoutes(packages: ExtensionPackages | null, publicUrl: string | undefined): express.Router {
  const routes = express.Router();
  const files: [string, keyof Pick<ExtensionPackages, 'chromeZip' | 'firefoxZip' | 'crx'>, string][] = [
    [EXTENSION_PATHS.chromeZip, 'chromeZip', 'application/zip'],
    [EXTENSION_PATHS.firefoxZip, 'firefoxZip', 'application/zip'],
    [EXTENSION_PATHS.crx, 'crx', 'application/x-chrome-extension'],
  ];
  for (const [route, field, type] of files) {
    routes.get(route, (_req, res) => {
      if (!packages) return notBuilt(res);
      res.type(type).set('content-disposition', `attachment; filename="${route.split('/').pop()}"`).send(packages[field]);
    });
  }
  routes.get(EXTENSION_PATHS.updates, (req, res) => {
    if (!packages) return notBuilt(res);
    res.type('application/xml').send(updateManifest(packages, `${publicBaseUrl(req, publicUrl)}${EXTENSION_PATHS.crx}`));
  });
  return routes;
}

function notBuilt(res: express.Response): void {
  res.status(404).json({ error: { code: 'NOT_FOUND', message: 'this server was started without an extension build (run `npm run build`)' } });
}
