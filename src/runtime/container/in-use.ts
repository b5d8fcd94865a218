/**
 * Names of the containers under `dataRoot` that use the image `imageId` (sha256:…).
 * The image store asks this before removing an image.
 */
export function imageInUse(_dataRoot: string, _imageId: string): Promise<string[]> {
  return Promise.resolve([]);
}
