/** `/openapi.json`: the parts each module describes (from the schemas that validate its requests), merged. */
export interface OpenApiPart {
  paths: Record<string, unknown>;
  components: { schemas: Record<string, unknown> };
}

export function openApiDocument(version: string, parts: readonly OpenApiPart[]): object {
  return {
    openapi: '3.1.0',
    info: { title: 'codex-sm', version },
    components: {
      schemas: Object.assign({}, ...parts.map((p) => p.components.schemas)) as object,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    paths: Object.assign({}, ...parts.map((p) => p.paths)) as object,
  };
}
