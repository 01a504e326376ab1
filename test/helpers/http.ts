/** A response body as JSON, loosely typed: tests assert on its shape field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const jsonBody = async (res: Response | { json(): Promise<unknown> }): Promise<any> => res.json();
