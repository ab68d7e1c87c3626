// Names and defaults of the hub's datastore, shared by its rendering and its status report.

/** Defaults of spec.datastore, the same as the CRD's (used when a field is missing). */
export const DEFAULT_IMAGE = 'docker.io/library/postgres:17';
export const DEFAULT_REPLICAS = 1;
export const DEFAULT_PORT = 5432;

/** app.kubernetes.io/name of the datastore's objects and pods. */
export const DATASTORE_APP = 'hdh-datastore';
export const CONTAINER_NAME = 'datastore';
/** Named port of the container and the Service (at most 15 characters). */
export const PORT_NAME = 'datastore';
/**
 * Where the claim is mounted. The parent of PGDATA (`/var/lib/postgresql/data` up to PostgreSQL
 * 17, `/var/lib/postgresql/<major>/docker` from 18): initdb refuses a data directory that is a
 * mount point holding `lost+found`, which a fresh filesystem has.
 */
export const DATA_MOUNT_PATH = '/var/lib/postgresql';
/**
 * The user the datastore runs as: `postgres` (999) of the official image. runAsNonRoot needs a
 * numeric user when an image declares none, and fsGroup makes the volume writable for it.
 */
export const DATASTORE_UID = 999;
