/**
 * @module maintenance/plan
 * Everything one container's maintenance will do, decided up front from the site and its
 * update check (pure). The plan is journaled with the first step, so `refit recover` can
 * rebuild the maintenance after a crash from the journal alone.
 *
 * A revert (the watch after an update found the new version worse) is planned the same way,
 * from the site as it runs now (on the new image) to the image the update replaced: the
 * configs to go back to are a merge of the customer's dir against the tree the update
 * installed (`base`) and the customer's tree the update backed up (`latest`), which is that
 * backup exactly unless the customer edited the dir since.
 */
import { join } from 'node:path';
import { shadowContainerName } from '../compose/override.js';
import type { Site } from '../site/discover.js';

export interface MaintenancePlan {
  /** Journal maintenance id, as a name-safe string (`m42`). */
  id: string;
  site: Site;
  /** The site's backend in the proxy. */
  proxySiteId: string;
  from: { reference: string; imageId: string };
  to: { reference: string; digest: string | null };
  /** The compose file must name a new tag (policy patch/minor/major); false for a digest update. */
  tagChanged: boolean;
  /** false with proxy `none`: no traffic steps, the recreate costs downtime. */
  zeroDowntime: boolean;
  shadowName: string;
  /** Set for a revert (steps.ts REVERT_STEPS); absent for an update. */
  revert?: RevertPlan;
  paths: {
    scratch: string;
    base: string;
    latest: string;
    merged: string;
    composeSaved: string;
    /** This maintenance's copy of the customer's configs, kept after success. */
    backup: string | null;
    siteBackups: string | null;
  };
}

export interface RevertPlan {
  /** The watch that decided it (journal `watches`). */
  watchId: number;
  /** The image the update replaced, still on this host: the site goes back to it. */
  imageId: string;
  /** Why, with the numbers that triggered it. */
  reason: string;
}

/** What a revert takes from the update it undoes. */
export interface RevertInput {
  plan: RevertPlan;
  /** The tree the update installed, as the watch kept it; null when the site has no config dir. */
  installed: string | null;
  /** The update's backup of the customer's tree; null when the site has no config dir. */
  backup: string | null;
}

export interface PlanInput {
  maintenanceId: number;
  site: Site;
  proxySiteId: string;
  candidate: { reference: string; digest: string | null };
  stateDir: string;
  zeroDowntime: boolean;
  now: Date;
  revert?: RevertInput;
}

export function planMaintenance(i: PlanInput): MaintenancePlan {
  const id = `m${i.maintenanceId}`;
  const scratch = join(i.stateDir, 'scratch', id);
  const siteKey = `${i.site.compose.project}_${i.site.compose.service}`;
  const siteBackups = i.site.config ? join(i.stateDir, 'backups', siteKey) : null;
  const stamp = i.now.toISOString().replace(/[:.]/g, '-');
  return {
    id,
    site: i.site,
    proxySiteId: i.proxySiteId,
    from: { reference: i.site.image.reference, imageId: i.site.image.id },
    to: i.candidate,
    tagChanged: i.candidate.reference !== i.site.image.reference,
    zeroDowntime: i.zeroDowntime,
    shadowName: shadowContainerName(i.site.name),
    ...(i.revert ? { revert: i.revert.plan } : {}),
    paths: {
      scratch,
      base: i.revert?.installed ?? join(scratch, 'base'),
      latest: i.revert?.backup ?? join(scratch, 'latest'),
      merged: join(scratch, 'merged'),
      composeSaved: join(scratch, 'compose-files'),
      backup: siteBackups ? join(siteBackups, `${stamp}-${id}`) : null,
      siteBackups,
    },
  };
}

