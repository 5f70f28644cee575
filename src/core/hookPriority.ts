/**
 * The order in which the runner calls hooks (lower first, as mmengine: 0 highest, 100 lowest). A
 * table of numbers in src/core so that the algorithms in src/models, which bring hooks of their own
 * (momentum encoders, frozen layers), can place them without importing the trainer.
 */
export const PRIORITY = { highest: 0, veryHigh: 10, high: 30, aboveNormal: 40, normal: 50, belowNormal: 60, low: 70, veryLow: 90, lowest: 100 } as const;
