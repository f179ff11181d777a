/**
 * @module maintenance/plan-record
 * The plan as the journal keeps it: a versioned record on the `begin` entry of a maintenance's
 * first step, validated when it is read back, so `refit recover` never acts on a guess.
 *  - version 2 (this refit): `{ version: 2, plan }`; steps named as in maintenance/steps.ts. A
 *    revert's plan has `revert` (older refits refuse it: its first step, old-image, is unknown
 *    to them).
 *  - version 1 (refit before the step table): the bare plan; two of its steps had other names
 *    (LEGACY_STEP_NAMES), mapped here so its unfinished maintenances recover like any other.
 */
import { z } from 'zod';
import { RefitError } from '../errors.js';
import type { JsonValue, MaintenanceLog, StepEntry } from '../journal/types.js';
import type { Site } from '../site/discover.js';
import { POLICIES } from '../site/labels.js';
import type { MaintenancePlan, RevertPlan } from './plan.js';
import { LEGACY_STEP_NAMES, orderFor, REVERT_ORDER, STEP_ORDER } from './steps.js';

export const PLAN_RECORD_VERSION = 2;

const text = z.string().min(1);
const path = z.string().startsWith('/');

// Each shape names exactly the keys of its type (`satisfies` fails on a missing or unknown key):
// a field added to the plan or the site must be added here, or it would be lost across a crash.
// Optional keys were added later: plans journaled before them have none.
const composeShape = { project: text, workingDir: path, configFiles: z.array(text).min(1), envFiles: z.array(path).optional(), service: text, version: z.string() } satisfies Record<keyof Site['compose'], z.ZodType>;
const siteShape = {
  name: text,
  id: text,
  state: z.string(),
  compose: z.object(composeShape),
  networks: z.array(z.object({ name: z.string(), ip: z.string() })),
  image: z.object({ reference: text, id: text, repoDigests: z.array(z.string()) }),
  vhosts: z.array(z.string()),
  port: z.number().int().min(1).max(65535),
  policy: z.enum(POLICIES),
  healthPath: z.string(),
  hooks: z.object({ preUpdate: z.string().nullable(), postUpdate: z.string().nullable() }),
  config: z.object({ containerPath: path, hostPath: path }).nullable(),
  tagRules: z.object({ include: z.string().nullable(), exclude: z.string().nullable(), minAge: z.object({ ms: z.number(), text: z.string() }).nullable() }).optional(),
  watchMs: z.number().int().min(0).nullable().optional(),
} satisfies Record<keyof Site, z.ZodType>;
const pathsShape = {
  scratch: path,
  base: path,
  latest: path,
  merged: path,
  composeSaved: path,
  backup: path.nullable(),
  siteBackups: path.nullable(),
} satisfies Record<keyof MaintenancePlan['paths'], z.ZodType>;
const planShape = {
  id: z.string().regex(/^m\d+$/),
  site: z.object(siteShape),
  proxySiteId: text,
  from: z.object({ reference: text, imageId: text }),
  to: z.object({ reference: text, digest: z.string().nullable() }),
  tagChanged: z.boolean(),
  zeroDowntime: z.boolean(),
  shadowName: text,
  revert: z.object({ watchId: z.number().int().min(1), imageId: text, reason: z.string() } satisfies Record<keyof RevertPlan, z.ZodType>).optional(),
  paths: z.object(pathsShape),
} satisfies Record<keyof MaintenancePlan, z.ZodType>;
const planSchema: z.ZodType<MaintenancePlan> = z.object(planShape);

/** Version 1 had no version field: the record was the plan itself. */
const recordSchema = z.object({ version: z.literal(PLAN_RECORD_VERSION), plan: planSchema });
const legacySchema = planSchema.transform((plan) => ({ version: 1, plan }));

/** What the first step's `begin` entry carries. */
export function planRecord(plan: MaintenancePlan): JsonValue {
  return { version: PLAN_RECORD_VERSION, plan: asJson(plan) };
}

/** A plain-data value as the JSON the journal stores (exactly what reading it back gives); undefined is null. */
export function asJson(value: unknown): JsonValue {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

export interface JournaledMaintenance {
  /** null: interrupted before its first step, so nothing was changed. */
  plan: MaintenancePlan | null;
  /** Its step entries, named as this refit names its steps. */
  steps: StepEntry[];
  /** The new image's ID, once the pull was done. */
  newImageId: string | null;
}

/** Reads an unfinished maintenance back from the journal, or says exactly why it cannot. */
export function readJournaledMaintenance(log: Pick<MaintenanceLog, 'id' | 'steps'>): JournaledMaintenance {
  const first = log.steps[0];
  if (!first) return { plan: null, steps: [], newImageId: null };
  // An update begins with pull, a revert with old-image; the plan must say the same.
  const firstSteps = [STEP_ORDER.names[0]!, REVERT_ORDER.names[0]!];
  if (!firstSteps.includes(first.step) || first.phase !== 'begin') {
    throw unreadable(log.id, `its first entry is ${first.step} ${first.phase}, not the begin of ${firstSteps.join(' or ')}`);
  }
  const firstStep = first.step;
  const versioned = typeof first.record === 'object' && first.record !== null && 'version' in first.record;
  const parsed = (versioned ? recordSchema : legacySchema).safeParse(first.record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw unreadable(log.id, `the plan on its first entry does not read back (${issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'invalid'})`);
  }
  const { version, plan } = parsed.data;
  if (firstStep !== orderFor(plan).names[0]) throw unreadable(log.id, `its first entry is ${firstStep} begin, but its plan is ${plan.revert ? 'a revert' : 'an update'}`);
  const steps = version === PLAN_RECORD_VERSION ? log.steps : log.steps.map((e) => ({ ...e, step: LEGACY_STEP_NAMES[e.step] ?? e.step }));
  const pulled = z.object({ imageId: text }).safeParse(steps.find((e) => e.step === firstStep && e.phase === 'done')?.record);
  return { plan, steps, newImageId: pulled.success ? pulled.data.imageId : null };
}

function unreadable(id: number, why: string): RefitError {
  return new RefitError('journal', `maintenance ${id} cannot be recovered: ${why}`, 'it was written by another refit version or edited by hand: run the refit that wrote it, or repair the site by hand');
}
