/**
 * Whether the screen is wide enough (a desktop or a tablet held sideways) to show the sessions
 * beside the one open; a phone shows one page at a time. Follows resizes and rotations.
 */
import { signal } from '@preact/signals';

/** Matches `.split` in styles.css. */
const WIDE = window.matchMedia('(min-width: 1024px)');

export const wide = signal(WIDE.matches);
WIDE.addEventListener('change', (e) => (wide.value = e.matches));
