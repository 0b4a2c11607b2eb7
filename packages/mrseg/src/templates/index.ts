export type { QueryType, Split } from './banks.ts';
export { QUERY_TYPES, SLOTS, TemplateError, fillTemplate, templates } from './banks.ts';
