// `destroy HUB`: confirms the destruction of a hub's data as the operator defines it
// (docs/storage.md, docs/keys.md): the annotation hdh.sovereign.eu/confirm-destroy equal to the
// hub's UID, which acts only when the hub is deleted, and only on what its spec says to destroy
// (retention: Delete deletes its claims; onDelete: CryptoShred destroys its keys). It prints what
// that is first, on which cluster, and needs the hub's name typed at a terminal, or --yes with
// the hub's UID. What is confirmed is what was shown: the annotation and the deletion (--delete)
// carry the resourceVersion read, and when the hub changed since, it is read again and the write
// made again only if its plan is still the one shown.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { kind } from 'kubernetes-fluent-client';
import { ANNOTATION_CONFIRM_DESTROY, type HealthDataHub } from '../../api/index.js';
import { hubClaims } from '../../storage/claims.js';
import { readNamedHub } from './annotate.js';
import { ConflictError, UserError } from './errors.js';
import { Reader } from './reads.js';
import { checkUid, type CommonOptions } from './scope.js';
import { oneLine, type Terminal } from './terminal.js';
import { annotateHub, deleteHub, replaced } from './writes.js';

export interface DestroyOptions extends CommonOptions {
  yes?: boolean;
  confirmUid?: string;
  delete?: boolean;
}

/** The cluster a command acts on, as the plan and the question name it. */
export interface Where {
  context: string;
  server: string;
}

/** What a confirmed deletion of the hub destroys, and what it keeps; `destroys` false: nothing. */
export function destroyPlan(
  hub: HealthDataHub,
  claims: readonly V1PersistentVolumeClaim[],
  where: Where,
): { lines: string[]; destroys: boolean } {
  const { namespace, name, uid } = hub.metadata;
  const retention = hub.spec.storage.retention ?? 'Retain';
  const onDelete = hub.spec.encryption?.onDelete ?? 'Keep';
  const provider = hub.status?.encryption?.provider ?? hub.spec.encryption?.provider ?? 'builtin';
  const keyRef = hub.status?.encryption?.keyRef;
  const mine = hubClaims(hub, claims);
  const claimList = mine.length
    ? mine.map((c) => {
        const size = c.status?.capacity?.['storage'] ?? c.spec?.resources?.requests?.['storage'];
        return `${c.metadata?.name}${c.spec?.volumeName ? ` (volume ${c.spec.volumeName}${size ? `, ${size}` : ''})` : ''}`;
      })
    : ['(no claim)'];
  const lines = [
    `HealthDataHub ${namespace}/${name}, uid ${uid}, on cluster ${where.server} (context ${where.context})`,
  ];
  lines.push(
    retention === 'Delete'
      ? `  spec.storage.retention: Delete: its claims are DELETED once the hub is deleted: ${claimList.join(', ')}` +
          ' (what becomes of each volume follows its persistentVolumeReclaimPolicy)'
      : `  spec.storage.retention: Retain: its claims are kept whatever the confirmation: ${claimList.join(', ')}`,
  );
  const keys = `the key-encryption key ${keyRef ?? '(none recorded)'} at provider ${provider} and the Secret ${name}-keys`;
  lines.push(
    onDelete === 'CryptoShred'
      ? `  spec.encryption.onDelete: CryptoShred: ${keys} are DESTROYED once the hub is deleted; ` +
          'every data key they wrap, and the data encrypted with them wherever copies live, becomes unreadable for good'
      : `  spec.encryption.onDelete: Keep: ${keys} are kept whatever the confirmation`,
  );
  return { lines: lines.map(oneLine), destroys: retention === 'Delete' || onDelete === 'CryptoShred' };
}

/**
 * Whether the destruction is confirmed: --confirm-uid, when given, must be the hub's UID; --yes
 * needs it; otherwise the hub's name typed at a terminal. Throws a UserError saying why not.
 */
export async function confirm(
  hub: HealthDataHub,
  where: Where,
  opts: Pick<DestroyOptions, 'yes' | 'confirmUid'>,
  term: Pick<Terminal, 'interactive' | 'ask'>,
): Promise<void> {
  const { namespace, name, uid } = hub.metadata;
  if (opts.confirmUid !== undefined && opts.confirmUid !== uid) {
    throw new UserError(
      `--confirm-uid ${opts.confirmUid} is not the UID of healthdatahub ${namespace}/${name} (${uid}): nothing was changed`,
    );
  }
  if (opts.yes) {
    if (opts.confirmUid === undefined) {
      throw new UserError(`--yes needs --confirm-uid with the hub's UID (${uid}): nothing was changed`);
    }
    return;
  }
  if (!term.interactive) {
    throw new UserError(
      `stdin is not a terminal, so nobody can type the confirmation: give --yes --confirm-uid ${uid}; nothing was changed`,
    );
  }
  const typed = (
    await term.ask(
      oneLine(
        `Type the hub's name (${name}) to confirm its destruction on ${where.server} (context ${where.context}): `,
      ),
    )
  ).trim();
  if (typed !== name) throw new UserError(`"${oneLine(typed)}" is not ${name}: nothing was changed`);
}

/** How often a write is made again after the hub changed in a way its plan does not show. */
const WRITE_ATTEMPTS = 5;

/** The hub and the claims of its namespace, read again. */
export type ReadAgain = () => Promise<{ hub: HealthDataHub; claims: V1PersistentVolumeClaim[] }>;

/**
 * Makes `write` on the hub as shown; when it is refused because the hub changed since
 * (ConflictError: a status update, another annotation, or a spec change), reads the hub again and
 * writes again at its new resourceVersion only if it is the same hub, its plan is still the one
 * shown, and `check` (when given) finds nothing against it. Otherwise, or after WRITE_ATTEMPTS
 * refusals, stops with why.
 */
export async function whilePlanHolds<T>(
  shown: { hub: HealthDataHub; lines: readonly string[] },
  where: Where,
  read: ReadAgain,
  write: (hub: HealthDataHub) => Promise<T>,
  check?: (hub: HealthDataHub) => string | undefined,
): Promise<T> {
  const { namespace, name } = shown.hub.metadata;
  let hub = shown.hub;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(hub);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      if (attempt >= WRITE_ATTEMPTS) {
        throw new UserError(
          `healthdatahub ${namespace}/${name} changed at every attempt (${WRITE_ATTEMPTS}) between reading and writing it: ` +
            'nothing more was done; run the command again',
        );
      }
    }
    const now = await read();
    if (now.hub.metadata.uid !== shown.hub.metadata.uid) throw replaced(shown.hub);
    const lines = destroyPlan(now.hub, now.claims, where).lines;
    const differs = lines.findIndex((l, i) => l !== shown.lines[i]);
    if (differs >= 0 || lines.length !== shown.lines.length) {
      const line = lines[differs >= 0 ? differs : lines.length - 1] ?? '';
      throw new UserError(
        `healthdatahub ${namespace}/${name} changed since its plan was shown (now: ${line.trim()}): ` +
          'nothing more was done; run the command again to see what it would destroy now',
      );
    }
    const refusal = check?.(now.hub);
    if (refusal !== undefined) throw new UserError(refusal);
    hub = now.hub;
  }
}

export async function destroyCommand(name: string, opts: DestroyOptions, term: Terminal): Promise<void> {
  if (opts.confirmUid !== undefined) checkUid('--confirm-uid', opts.confirmUid);
  if (opts.yes && opts.confirmUid === undefined) {
    throw new UserError(
      "--yes needs --confirm-uid with the hub's UID (kubectl hdh destroy shows it): nothing was changed",
    );
  }
  const { connection, namespace, hub } = await readNamedHub(name, opts);
  const reader = new Reader(connection);
  const claimsNow = () => reader.list(kind.PersistentVolumeClaim, 'persistentvolumeclaims', { namespace });
  const readAgain: ReadAgain = async () => ({
    hub: await reader.hub(namespace, name),
    claims: await claimsNow(),
  });
  const where = { context: connection.context, server: connection.server };
  const plan = destroyPlan(hub, await claimsNow(), where);
  term.out(`${plan.lines.join('\n')}\n`);
  if (!plan.destroys) {
    throw new UserError(
      'nothing would be destroyed: the confirmation acts only with spec.storage.retention: Delete or ' +
        'spec.encryption.onDelete: CryptoShred; change the spec first (kubectl delete alone deletes the hub and keeps its data)',
    );
  }
  await confirm(hub, where, opts, term);
  const uid = hub.metadata.uid!;
  let confirmed = hub;
  if (hub.metadata.annotations?.[ANNOTATION_CONFIRM_DESTROY] === uid) {
    term.out(`healthdatahub ${namespace}/${name}: ${ANNOTATION_CONFIRM_DESTROY} was already ${uid}\n`);
  } else {
    confirmed = await whilePlanHolds({ hub, lines: plan.lines }, where, readAgain, (h) =>
      annotateHub(connection, h, { [ANNOTATION_CONFIRM_DESTROY]: uid }, { unchangedSinceRead: true }),
    );
    term.out(`healthdatahub ${namespace}/${name}: ${ANNOTATION_CONFIRM_DESTROY} set to ${uid}\n`);
  }
  if (opts.delete) {
    const stillConfirmed = (h: HealthDataHub) =>
      h.metadata.annotations?.[ANNOTATION_CONFIRM_DESTROY] === uid
        ? undefined
        : `the ${ANNOTATION_CONFIRM_DESTROY} annotation of healthdatahub ${namespace}/${name} was changed since: it was not deleted`;
    await whilePlanHolds(
      { hub: confirmed, lines: plan.lines },
      where,
      readAgain,
      (h) => deleteHub(connection, h),
      stillConfirmed,
    );
    term.out(
      `healthdatahub ${namespace}/${name} deleted; its finalizer destroys what is listed above, then it is gone:\n` +
        `  kubectl -n ${namespace} get healthdatahub ${name} -w\n`,
    );
  } else {
    term.out(
      `Nothing is destroyed until the hub is deleted:\n  kubectl -n ${namespace} delete healthdatahub ${name}\n` +
        `(or run this again with --delete)\n`,
    );
  }
}
