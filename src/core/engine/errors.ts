/** A model folder PrefLens cannot open: the message names the file (and tensor) and what is wrong with it. */
export class ModelError extends Error {}
