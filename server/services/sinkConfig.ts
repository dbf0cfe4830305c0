// What a sink's configuration may be: the input schema of sinks.create / sinks.update and
// of VIGIL_SINKS, and the checks that span fields (the URL's scheme fits the kind, the
// format fits the kind, `q` parses, a secret where the kind needs one). Every refusal is
// BAD_REQUEST naming the field. A host that does not answer is not refused here: the sink
// is created and shows the error.
import { readFileSync } from 'node:fs';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { storable } from '../../shared/event.js';
import { SINK_DEFAULTS, SINK_FORMATS, SINK_KIND_NAMES, SINK_KINDS, type SinkFormat, type SinkKind, type SinkKindDefinition } from '../../shared/sinkCatalog.js';
import { parseQueryFor } from './events.js';

const MAX_BATCH = Math.max(...Object.values(SINK_KINDS).map((k) => k.maxBatchSize));

export const sinkFieldsSchema = {
  name: z.string().trim().min(1).max(100).superRefine(storable),
  kind: z.enum(SINK_KIND_NAMES, {
    error: (i) => `unknown kind ${JSON.stringify(i.input)}; valid kinds: ${SINK_KIND_NAMES.join(', ')}`,
  }),
  url: z.string().trim().min(1).max(2048).superRefine(storable),
  format: z.enum(SINK_FORMATS, {
    error: (i) => `unknown format ${JSON.stringify(i.input)}; valid formats: ${SINK_FORMATS.join(', ')}`,
  }),
  q: z.string().max(2000).superRefine(storable),
  secret: z.string().max(4096).superRefine(storable),
  batchSize: z.number().int().min(1).max(MAX_BATCH),
  caFile: z.string().min(1).max(4096).superRefine(storable),
};

/** sinks.create and each entry of VIGIL_SINKS. */
export const sinkCreateSchema = z
  .object({
    name: sinkFieldsSchema.name,
    kind: sinkFieldsSchema.kind,
    url: sinkFieldsSchema.url,
    format: sinkFieldsSchema.format.optional(),
    q: sinkFieldsSchema.q.optional(),
    secret: sinkFieldsSchema.secret.optional(),
    batchSize: sinkFieldsSchema.batchSize.optional(),
    caFile: sinkFieldsSchema.caFile.nullable().optional(),
  })
  .strict();
export type SinkCreateInput = z.output<typeof sinkCreateSchema>;

/** sinks.update: any field; `secret` `******` keeps the stored one, `''` removes it; `caFile: null` removes it. */
export const sinkUpdateSchema = sinkCreateSchema.partial().extend({ id: z.uuid() }).strict();
export type SinkUpdateInput = z.output<typeof sinkUpdateSchema>;

/** A whole, resolved configuration: what one sink row holds (the secret in clear). */
export interface SinkConfig {
  name: string;
  kind: SinkKind;
  url: string;
  format: SinkFormat;
  q: string;
  secret: string | null;
  batchSize: number;
  caFile: string | null;
}

function badRequest(field: string, message: string): never {
  throw new TRPCError({ code: 'BAD_REQUEST', message: `${field}: ${message}` });
}

/** The defaults of a sinks.create input. */
export function configOf(input: SinkCreateInput): SinkConfig {
  return {
    name: input.name,
    kind: input.kind,
    url: input.url,
    format: input.format ?? SINK_DEFAULTS.format,
    q: input.q?.trim() ?? '',
    secret: input.secret ? input.secret : null,
    batchSize: input.batchSize ?? Math.min(SINK_DEFAULTS.batchSize, SINK_KINDS[input.kind].maxBatchSize),
    caFile: input.caFile ?? null,
  };
}

/** Checks what no single field's schema can; throws BAD_REQUEST naming the field. */
export function checkSinkConfig(config: SinkConfig): void {
  const kind: SinkKindDefinition = SINK_KINDS[config.kind];
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    badRequest('url', `not a URL: ${JSON.stringify(config.url)}`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!kind.schemes.includes(scheme)) {
    badRequest('url', `a ${config.kind} sink needs a ${kind.schemes.map((s) => `${s}://`).join(', ')} URL, not ${scheme}://`);
  }
  if (!url.hostname) badRequest('url', 'names no host');
  if (url.username || url.password) badRequest('url', 'must not carry credentials; give them as the secret');
  if (config.kind === 'syslog' && (url.pathname.replace(/^\/+/, '') !== '' || url.search)) {
    badRequest('url', 'a syslog URL is scheme://host:port, without a path');
  }
  if (!kind.formats.includes(config.format)) {
    badRequest('format', `a ${config.kind} sink writes ${kind.formats.join(', ')}, not ${config.format}`);
  }
  if (config.batchSize > kind.maxBatchSize) badRequest('batchSize', `a ${config.kind} sink takes at most ${kind.maxBatchSize} events a batch`);
  parseQueryFor(config.q, undefined);
  if (kind.secret === null && config.secret !== null) badRequest('secret', `a ${config.kind} sink takes no secret`);
  if (kind.secret !== null && config.secret === null) badRequest('secret', `a ${config.kind} sink needs its ${kind.secret}`);
  if (config.caFile !== null) {
    if (scheme !== 'tls') badRequest('caFile', 'only a tls:// syslog sink uses a CA file');
    let pem: string;
    try {
      pem = readFileSync(config.caFile, 'utf8');
    } catch (error) {
      badRequest('caFile', `cannot read ${config.caFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) badRequest('caFile', `${config.caFile} holds no PEM certificate`);
  }
}

/** VIGIL_SINKS: a JSON array of sinks.create inputs; throws naming the entry and field. */
export function parseConfiguredSinks(raw: string | undefined): SinkCreateInput[] {
  if (raw === undefined || raw.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new Error(`VIGIL_SINKS is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(sinkCreateSchema).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`VIGIL_SINKS[${issue.path.map(String).join('.')}]: ${issue.message}`);
  }
  const names = new Set<string>();
  parsed.data.forEach((input, i) => {
    try {
      checkSinkConfig(configOf(input));
    } catch (error) {
      throw new Error(`VIGIL_SINKS[${i}].${(error as Error).message}`);
    }
    const key = input.name.toLowerCase();
    if (names.has(key)) throw new Error(`VIGIL_SINKS[${i}].name: ${JSON.stringify(input.name)} appears twice`);
    names.add(key);
  });
  return parsed.data;
}
