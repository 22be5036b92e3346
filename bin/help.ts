// One help style for every flag (issue 15): the description, then in brackets what a person
// needs to use it — its default, its environment variable, what it accepts:
//   --epochs <n>  training epochs … [default: 20; env: IMGSIM_EPOCHS; allowed: a whole number from 1 to 10000]
// Config flags get the three from the settings table (bin/options.ts: addConfigFlags, the
// accepted values worded by shared/config/expectation.ts); hand-written flags are made with
// valueOption below. Commander's own "(default: "10")" is switched off (catalog.ts: helpStyle).
import { Option } from 'commander';

export interface FlagFacts {
  /** What is used when the flag is not given, as a person reads it. */
  default?: string | undefined;
  env?: string | undefined;
  /** What the flag accepts, as the phrase after "must be" (the error's wording). */
  allowed?: string | undefined;
  required?: boolean | undefined;
}

/** "doc [default: 20; env: IMGSIM_EPOCHS; allowed: a whole number from 1 to 10000]". */
export function describeFlag(doc: string, f: FlagFacts): string {
  const facts = [
    ...(f.required === true ? ['required'] : []),
    ...(f.default !== undefined ? [`default: ${f.default}`] : []),
    ...(f.env !== undefined ? [`env: ${f.env}`] : []),
    ...(f.allowed !== undefined ? [`allowed: ${f.allowed}`] : []),
  ];
  return facts.length > 0 ? `${doc} [${facts.join('; ')}]` : doc;
}

/** "a whole number ≥ 1": positiveInt's wording (bin/options.ts). */
export const wholeNumber = (min = 1): string => `a whole number ≥ ${min}`;

/**
 * A hand-written flag that takes a value, described in the help style. `value` is the
 * default commander fills in (omit it for none); `default` what help says when not that
 * value itself (e.g. "all", "the index folder").
 */
export function valueOption(flags: string, doc: string, o: { value?: string; default?: string; allowed?: string; choices?: readonly string[]; required?: boolean } = {}): Option {
  const allowed = o.allowed ?? (o.choices ? `one of ${o.choices.join(', ')}` : undefined);
  const option = new Option(flags, describeFlag(doc, { required: o.required, default: o.default ?? o.value, allowed }));
  if (o.value !== undefined) option.default(o.value);
  if (o.choices) option.choices(o.choices);
  if (o.required === true) option.makeOptionMandatory();
  return option;
}

/**
 * The text under a command's options: notes (paragraphs, if any), then "Examples:" with
 * one command per line. Examples run as written after `imgsim demo` (its imgsim-demo/data
 * and imgsim-demo/run) unless they name a service (Redis, S3, Qdrant) or a folder of one's own.
 */
export function helpAfter(examples: readonly string[], notes: readonly string[] = []): string {
  return ['', ...(notes.length > 0 ? [...notes, ''] : []), 'Examples:', ...examples.map((e) => `  ${e}`)].join('\n');
}

/** --model of embed and apply (one convention, pipelines/model-folder.ts): a model folder or the train/run output folder holding it. */
export const MODEL_FLAG_DOC = 'model folder (with meta.json), or the output folder of imgsim train or imgsim run (its model/ sub-folder is used)';

/** How a number flag is bounded: above min (minOpen) or from it; whole numbers only. */
export interface NumberRange {
  minOpen?: boolean;
  whole?: boolean;
}

/** "a number above 0 and at most 1", "a whole number from 4 to 10000": what a number flag allows. */
export function numberRangeText(min: number, max: number, o: NumberRange = {}): string {
  if (o.minOpen === true) return `a number above ${min} and at most ${max}`;
  return `a ${o.whole === true ? 'whole ' : ''}number from ${min} to ${max}`;
}
