// Imported first by every entry (pages and background): extension pages run under a CSP
// without 'unsafe-eval', so zod must neither compile parsers with new Function nor probe
// whether it may (the probe alone is reported as a CSP violation). Must run before any
// schema is built, hence its own module, imported before everything else.
import { z } from 'zod';

z.config({ jitless: true });
