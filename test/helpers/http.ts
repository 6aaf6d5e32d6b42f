/** One authenticated JSON request to a running service, for every integration test. */

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** `body` is sent as JSON when given; the answer is returned unparsed (callers parse what they expect). */
export async function serviceFetch(
  endpoint: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<RawAnswer> {
  const r = await fetch(endpoint + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}
