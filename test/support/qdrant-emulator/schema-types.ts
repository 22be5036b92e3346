// The shape of qdrant-schema.json: the parts of Qdrant's OpenAPI spec the emulator
// checks requests and responses against (see derive-schema.ts).

/** The JSON-Schema subset the derived file uses (OpenAPI 3.0 `nullable` already turned into type arrays). */
export interface JsonSchema {
  $ref?: string;
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
}

export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

export interface DerivedOperation {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
  /** OpenAPI path template, e.g. `/collections/{collection_name}/points`. */
  path: string;
  /** Query parameters by name (all optional in the operations we use). */
  query: Record<string, JsonSchema>;
  requestBody?: JsonSchema;
  /** By status key as in the spec: '200', '4XX', 'default'. */
  responses: Record<string, JsonSchema>;
}

export interface DerivedSchema {
  _source: {
    spec: string;
    qdrantVersion: string;
    infoVersion: string;
    licence: string;
    sha256: string;
    derivedBy: string;
    transform: string;
  };
  operations: Record<string, DerivedOperation>;
  components: { schemas: Record<string, JsonSchema> };
}
