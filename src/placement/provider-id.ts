// What a Node's spec.providerID says about where the machine is. The cloud controller manager
// sets providerID from the provider's own inventory, while region labels may be written by anyone
// allowed to label nodes; when both can be read and they disagree, the labels are not evidence of
// jurisdiction. Only formats whose zone-to-region rule is unambiguous are read: a wrong guess here
// would flag (and, with onViolation Evict, evict from) a compliant node, so anything else is
// "unknown" and the labels alone decide.

export interface ProviderLocation {
  /** The provider scheme, as written before `://`. */
  provider: string;
  zone: string;
  region: string;
}

/**
 * Zone → region rules per provider, and where the zone sits in the providerID. Each rule was
 * chosen from the provider's published providerID and zone naming:
 *
 * - `aws:///<zone>/<instance>` (AWS; also Outscale's cloud controller manager): an availability
 *   zone is its region plus one letter (`eu-west-3a` → `eu-west-3`, `cloudgouv-eu-west-1a` →
 *   `cloudgouv-eu-west-1`). Local and Wavelength zones (`us-west-2-lax-1a`) do not follow the rule
 *   and are left unknown.
 * - `gce://<project>/<zone>/<instance>` (Google): zone = region + `-<letter>` (`europe-west9-a`).
 * - `scaleway://<product>/<zone>/<id>` (Scaleway instances and bare metal): zone = region +
 *   `-<digit>` (`fr-par-1` → `fr-par`). The older `scaleway://<id>` carries no zone.
 *
 * Not read: `openstack:///<id>` (OVHcloud, OpenStack), `azure://…`, `hcloud://<id>`, `kind://…`,
 * `kwok://…` and anything else: no zone, or none in a form a region follows from.
 */
const RULES: readonly {
  provider: string;
  pattern: RegExp;
  region: (zone: string) => string | undefined;
}[] = [
  {
    provider: 'aws',
    pattern: /^aws:\/\/\/?([^/]+)\/[^/]+$/,
    region: (zone) => /^([a-z]+(?:-[a-z]+)*-\d+)[a-z]$/.exec(zone)?.[1],
  },
  {
    provider: 'gce',
    pattern: /^gce:\/\/[^/]+\/([^/]+)\/[^/]+$/,
    region: (zone) => /^([a-z]+-[a-z]+\d+)-[a-z]$/.exec(zone)?.[1],
  },
  {
    provider: 'scaleway',
    pattern: /^scaleway:\/\/[a-z]+\/([^/]+)\/[^/]+$/,
    region: (zone) => /^([a-z]{2}-[a-z]{3})-\d+$/.exec(zone)?.[1],
  },
];

/** The zone and region a providerID names, when its format is one of the rules above. */
export function providerLocation(providerID: string | undefined): ProviderLocation | undefined {
  if (!providerID) return undefined;
  for (const rule of RULES) {
    const zone = rule.pattern.exec(providerID)?.[1];
    if (zone === undefined) continue;
    const region = rule.region(zone);
    return region === undefined ? undefined : { provider: rule.provider, zone, region };
  }
  return undefined;
}

/**
 * Why a node's region label cannot be trusted, or undefined when it agrees with the providerID
 * (or the providerID says nothing about the region). A node without a region label is already
 * ineligible for every policy, so only a label that contradicts the providerID is reported here.
 */
export function regionLabelMismatch(
  regionLabel: string | undefined,
  providerID: string | undefined,
): string | undefined {
  const location = providerLocation(providerID);
  if (!location || regionLabel === undefined || regionLabel === location.region) return undefined;
  return `region label ${regionLabel} contradicts spec.providerID ${providerID} (region ${location.region})`;
}
