/**
 * Colours of the report. A strategy keeps its colour in every chart (by its position in the report), the rival's
 * side of a strategy is the same colour, paler; assets use a separate palette so a price line is never mistaken
 * for a strategy.
 */

const STRATEGY_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const ASSET_COLOURS = ['#4d4d4d', '#b8860b', '#008080', '#8b4513', '#708090', '#6b8e23'];
export const GAS_COLOUR = '#999999';

/** Opacity of the rival's marks, drawn in the colour of the strategy they competed with. */
export const RIVAL_OPACITY = 0.4;

export function strategyColour(index: number): string {
  return STRATEGY_COLOURS[index % STRATEGY_COLOURS.length]!;
}

export function assetColour(index: number): string {
  return ASSET_COLOURS[index % ASSET_COLOURS.length]!;
}
