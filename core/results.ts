// core/plot.ts, which another branch is changing right now, still imports the merged result's type
// from here; once it imports MergedHistograms from ./merge.js this file goes.
export type { MergedHistograms as Results } from './merge.js';
