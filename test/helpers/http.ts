/** A response body as JSON, loosely typed: tests assert on its shape field by field. */
export const jsonBody = async (res: Response | { json(): Promise<unknown> }): Promise<any> => res.json();
