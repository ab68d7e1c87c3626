import { storageReport, type StorageVerdicts } from '../../../src/storage/status.js';
import type { VolumeAudit } from '../../../src/storage/volumes.js';
import { hub } from './fixtures.js';

const REGIONS = ['fr-par', 'eu-west-3', 'de-fra'];
const cleanAudit = (): VolumeAudit => ({
  claims: [
    { name: 'data-oncology-0', volumeName: 'pv-a', region: 'fr-par', zone: 'fr-par-1', capacity: '20Gi' },
  ],
  violations: [],
  foreignClass: [],
  pending: [],
  unobserved: [],
  missing: 0,
});
const report = (v: Partial<StorageVerdicts>) =>
  storageReport(hub(), REGIONS, { storageClass: { ok: true }, audit: cleanAudit(), ...v });

describe('storageReport', () => {
  it('is ClaimsBound with the claims in status when all is well', () => {
    const r = report({});
    expect(r.condition).toMatchObject({
      type: 'StorageReady',
      status: 'True',
      reason: 'ClaimsBound',
      observedGeneration: 3,
    });
    expect(r.condition.message).toBe(
      '1 claim(s) bound on StorageClass "encrypted-eu" inside [fr-par, eu-west-3, de-fra]',
    );
    expect(r.status).toEqual({ claims: cleanAudit().claims });
  });

  it('reports the first problem in order: class, conflict, location, class of claims, expansion, pending', () => {
    const audit = {
      ...cleanAudit(),
      violations: [{ claim: 'data-oncology-0', volumeName: 'pv-us', reason: 'it lies in us-east-1' }],
      foreignClass: [{ claim: 'data-oncology-0', storageClassName: 'plain' }],
      pending: ['data-oncology-1'],
    };
    const classFail = {
      ok: false as const,
      problems: [],
      condition: {
        type: 'StorageReady',
        status: 'False' as const,
        reason: 'ImmediateBinding',
        message: 'm',
        observedGeneration: 3,
      },
    };
    const conflict = {
      adopt: [],
      conflicts: [{ claim: 'data-oncology-0', from: 'x', reason: 'on another class' }],
    };
    const blocked = { grow: [], blocked: [{ claim: 'data-oncology-0', from: '20Gi' }] };
    expect(
      report({ storageClass: classFail, adoption: conflict, audit, growth: blocked }).condition.reason,
    ).toBe('ImmediateBinding');
    expect(report({ adoption: conflict, audit, growth: blocked }).condition.reason).toBe(
      'RetainedClaimConflict',
    );
    const outside = report({ audit, growth: blocked }).condition;
    expect(outside).toMatchObject({ status: 'False', reason: 'VolumeOutsideJurisdiction' });
    expect(outside.message).toMatch(
      /claim data-oncology-0 is bound to volume pv-us: it lies in us-east-1\. The operator never deletes or moves data/,
    );
    expect(report({ audit: { ...audit, violations: [] }, growth: blocked }).condition.reason).toBe(
      'StorageClassNotAllowed',
    );
    const exp = report({ audit: { ...audit, violations: [], foreignClass: [] }, growth: blocked }).condition;
    expect(exp).toMatchObject({ status: 'False', reason: 'ExpansionNotSupported' });
    expect(exp.message).toMatch(/allowVolumeExpansion: true/);
    const pending = report({ audit: { ...audit, violations: [], foreignClass: [], missing: 1 } }).condition;
    expect(pending).toMatchObject({ status: 'False', reason: 'ClaimsPending' });
    expect(pending.message).toMatch(
      /1 replica claim\(s\) not created yet; claims data-oncology-1 not bound yet/,
    );
  });

  it('keeps the previous claims in status when no audit ran', () => {
    const h = hub();
    h.status = { storage: { claims: [{ name: 'data-oncology-0' }] } };
    const r = storageReport(h, REGIONS, { storageClass: { ok: true } });
    expect(r.status).toEqual({ claims: [{ name: 'data-oncology-0' }] });
    expect(r.condition.status).toBe('Unknown');
  });
});
