// The media types of the OCI image-spec and Docker's schema 2, in one place: which documents
// are manifests and indexes, and which blobs are layers runjs can unpack.
export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  schema1: "application/vnd.docker.distribution.manifest.v1+json",
  schema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** Layers: plain, gzip or zstd tars (the unpacker tells them apart by their first bytes). */
export const LAYER_TYPES: string[] = [
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];
