/**
 * Which images a prompt may name (docs/api.md#images). An image goes to the model, so a client
 * must not be able to make the service read any file it can: URLs are http(s) or data only, and
 * a local path must be an image file under the session's cwd or a configured directory. Reads
 * the file system (realpath, stat) and nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HttpError } from '../http.js';
import type { InputItem } from './ops.js';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp']);

const URL_RE = /^(https?|data):/i;

function realDir(dir: string): string | undefined {
  try {
    return fs.realpathSync(dir);
  } catch {
    return undefined;
  }
}

/** Why `file` may not be read as an image under `roots`, or undefined when it may. */
export function localImageRefusal(file: string, roots: readonly string[]): string | undefined {
  if (!path.isAbsolute(file)) return 'is not an absolute path';
  if (!IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase()))
    return `does not end in ${[...IMAGE_EXTENSIONS].join(', ')}`;
  let real: string;
  try {
    real = fs.realpathSync(file); // symlinks resolved: a link out of the tree is refused below
    if (!fs.statSync(real).isFile()) return 'is not a regular file';
  } catch {
    return 'does not exist';
  }
  if (!IMAGE_EXTENSIONS.has(path.extname(real).toLowerCase())) return 'links to a non-image file';
  const inside = roots
    .map(realDir)
    .some(
      (r) =>
        r !== undefined && (real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep)),
    );
  return inside ? undefined : "is not under the session's cwd or images.allowedDirs";
}

/** Throw 400 invalid_image for the first image of a prompt the policy refuses. */
export function checkPromptImages(
  input: string | InputItem[] | undefined,
  images: readonly string[] | undefined,
  roots: readonly (string | null | undefined)[],
): void {
  const dirs = roots.filter((r): r is string => typeof r === 'string' && path.isAbsolute(r));
  const refuse = (what: string, why: string) => {
    throw new HttpError(
      400,
      'invalid_image',
      `image ${JSON.stringify(what.slice(0, 200))} ${why}`,
      'name an http(s)/data URL, or an image file under the session cwd or a directory in images.allowedDirs (docs/api.md#images)',
    );
  };
  const items = typeof input === 'string' || input === undefined ? [] : input;
  for (const item of items) {
    if (item.type === 'image' && !URL_RE.test(item.url))
      refuse(item.url, 'is not an http(s) or data URL');
    if (item.type === 'localImage') {
      const why = localImageRefusal(item.path, dirs);
      if (why) refuse(item.path, why);
    }
  }
  for (const img of images ?? []) {
    if (URL_RE.test(img)) continue;
    const why = localImageRefusal(img, dirs);
    if (why) refuse(img, why);
  }
}
