/**
 * ComfyUI's `LoadImageMask` (alpha channel) redraws where the mask image is transparent. Designers draw the area
 * to change as a shape, so the exported mask layer (opaque where drawn) has its alpha inverted here, on a canvas.
 */
export async function invertAlpha(png: Uint8Array): Promise<Uint8Array> {
  const bitmap = await createImageBitmap(new Blob([png as BlobPart], { type: 'image/png' }));
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 3; i < data.data.length; i += 4) data.data[i] = 255 - data.data[i]!;
  ctx.putImageData(data, 0, 0);
  const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
  if (!blob) throw new Error('could not encode the mask');
  return new Uint8Array(await blob.arrayBuffer());
}
