// Turns the object-store part of a volume's configuration into a backend.

import { FileObjectStore } from './file.js';
import { S3ObjectStore } from './s3.js';
import type { ObjectStore } from './store.js';

export type ObjectStoreConfig =
  | { backend: 'file'; root: string }
  | {
      backend: 's3' | 'rustfs' | 'minio';
      bucket: string;
      endpoint?: string;
      region?: string;
      prefix?: string;
      forcePathStyle?: boolean;
      credentials?: { accessKeyId: string; secretAccessKey: string };
    };

export function openObjectStore(config: ObjectStoreConfig): ObjectStore {
  if (config.backend === 'file') return new FileObjectStore(config.root);
  const { backend, ...options } = config;
  // RustFS and MinIO serve buckets only as paths; virtual-host names would not resolve.
  const forcePathStyle = backend === 's3' ? options.forcePathStyle : true;
  return new S3ObjectStore({ ...options, forcePathStyle });
}
