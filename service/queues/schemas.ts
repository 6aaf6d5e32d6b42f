/**
 * JSON Schemas of the queue and group request bodies: ajv validates requests with them and
 * `/openapi.json` is made from them (openapi.ts), so the two cannot drift. Enums of the
 * app-server's values are the sessions API's (schemas.ts there).
 */
import { bodySchemas as sessionBodies } from '../sessions/schemas.js';

const str = (maxLength = 4096) => ({ type: 'string', minLength: 1, maxLength }) as const;
const { sandbox, approvalPolicy } = sessionBodies.StartSession.properties;
const images = { type: 'array', maxItems: 16, items: str(1_000_000) } as const;
const text = str(1_000_000);
const mode = { enum: ['auto', 'manual'] } as const;
const uuid = { type: 'string', pattern: '^[0-9a-fA-F-]{36}$' } as const;

/** `{text}` or codex-agent's `{prompt}`: exactly one of them. */
const promptInput = {
  type: 'object',
  additionalProperties: false,
  properties: { text, prompt: text, images, mode },
  oneOf: [{ required: ['text'] }, { required: ['prompt'] }],
} as const;

export const queueBodies = {
  CreateQueue: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: str(200),
      cwd: { ...str(), description: 'working directory (absolute, existing): a new thread there' },
      projectPath: { ...str(), description: "codex-agent's name for cwd" },
      sessionId: { ...uuid, description: 'an existing session to queue the prompts in' },
      model: str(200),
      sandbox,
      approvalPolicy,
      maxRetries: { type: 'integer', minimum: 0, maximum: 10 },
      prompts: {
        type: 'array',
        maxItems: 1000,
        items: { oneOf: [{ ...text }, promptInput] },
      },
    },
  },
  PromptInput: promptInput,
  UpdatePrompt: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { text, prompt: text, images, mode },
  },
  MovePrompt: {
    type: 'object',
    additionalProperties: false,
    required: ['to'],
    properties: {
      to: { type: 'integer', minimum: 1, description: '1-based among the pending prompts' },
    },
  },
  SetMode: {
    type: 'object',
    additionalProperties: false,
    required: ['mode'],
    properties: { mode },
  },
  StopQueue: {
    type: 'object',
    additionalProperties: false,
    properties: { now: { type: 'boolean', description: 'interrupt the running turn' } },
  },
  NoBody: { type: 'object', additionalProperties: false, properties: {} },
  CreateGroup: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: str(200),
      description: str(2000),
      sessionIds: { type: 'array', maxItems: 1000, uniqueItems: true, items: uuid },
    },
  },
  AddSession: {
    type: 'object',
    additionalProperties: false,
    required: ['sessionId'],
    properties: { sessionId: uuid },
  },
  RunGroup: {
    type: 'object',
    additionalProperties: false,
    properties: {
      prompt: text,
      text,
      images,
      maxConcurrent: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
      model: str(200),
      sandbox,
      approvalPolicy,
    },
    oneOf: [{ required: ['prompt'] }, { required: ['text'] }],
  },
} as const;

export type QueueBodyName = keyof typeof queueBodies;
