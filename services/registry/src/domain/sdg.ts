/** The 17 UN Sustainable Development Goals, stored as a bitmask: bit 0 = SDG 1 … bit 16 = SDG 17. */
export const SDG_COUNT = 17;
export const SDG_MAX_MASK = (1 << SDG_COUNT) - 1;

/** The bitmask of a list of goal numbers (1..17); duplicates count once. */
export function sdgGoalsToMask(goals: readonly number[]): number {
  let mask = 0;
  for (const goal of goals) {
    if (!Number.isInteger(goal) || goal < 1 || goal > SDG_COUNT) {
      throw new RangeError(`SDG goal ${goal} is not in 1..${SDG_COUNT}`);
    }
    mask |= 1 << (goal - 1);
  }
  return mask;
}

/** The goal numbers (ascending) set in a bitmask. */
export function sdgMaskToGoals(mask: number): number[] {
  if (!Number.isInteger(mask) || mask < 0 || mask > SDG_MAX_MASK) {
    throw new RangeError(`SDG bitmask ${mask} is not in 0..${SDG_MAX_MASK}`);
  }
  const goals: number[] = [];
  for (let goal = 1; goal <= SDG_COUNT; goal++) if (mask & (1 << (goal - 1))) goals.push(goal);
  return goals;
}

/** The API accepts either form: a bitmask or a list of goal numbers. */
export function sdgToMask(input: number | readonly number[]): number {
  return typeof input === "number" ? sdgGoalsToMask(sdgMaskToGoals(input)) : sdgGoalsToMask(input);
}
