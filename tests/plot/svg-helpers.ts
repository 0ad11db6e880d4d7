// Checks on rendered SVG shared by the plot tests.
import { Resvg } from '@resvg/resvg-js';
import { expect } from 'vitest';

/** Checks well-formedness the way a renderer does (resvg parses the XML and throws on errors). */
export function expectValidSVG(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(() => new Resvg(svg)).not.toThrow();
}

/** Marks of a kind in vega's SVG ('line mark' per trace, 'point' per symbol). */
export const countMarks = (svg: string, role: string): number => svg.split(`aria-roledescription="${role}"`).length - 1;
