import type { BranchType } from '../contracts/analysis-definition.js';
import { badInput } from '../contracts/errors.js';
import type { ElementType } from '../root/columns.js';
import type { RootTree } from '../root/tree.js';

/**
 * A definition's declared branch types against a file's: the compiled loop reads a column as its
 * declaration says, so a file that stores a branch otherwise (float64 where float32 was declared,
 * one value where a collection was) is refused, naming the branch, rather than read wrongly.
 */
const DECLARED: Record<ElementType, string> = {
  f4: 'float32', f8: 'float64', i4: 'int32', u4: 'uint32', i2: 'int16', u2: 'uint16', i1: 'int8', u1: 'uint8', bool: 'bool',
};

export function checkTreeTypes(tree: RootTree, branches: readonly { name: string }[], declared: Readonly<Record<string, BranchType>>, analysis: string): void {
  for (const { name } of branches) {
    const info = tree.branch(name);
    const stored = `${DECLARED[info.type]}${info.layout === 'scalar' ? '' : '[]'}`;
    if (stored !== declared[name]) {
      throw badInput(tree.url, `branch '${name}' of tree '${tree.treeName}' is ${stored}, analysis ${analysis} declares it ${declared[name]}`);
    }
  }
}
