/** What the fake chat platforms record, shared by the fake (Node) and the tests (workerd). */
export interface RecordedFile {
  field: string;
  filename: string;
  content_type: string;
  size: number;
  /** First bytes, hex: enough for a test to recognise a PNG. */
  head: string;
}

export interface RecordedCall {
  platform: "discord" | "slack";
  /** e.g. "edit_original", "channel_message", "chat.postMessage", "response_url", "upload". */
  kind: string;
  key: string;
  body: unknown;
  files: RecordedFile[];
  at: number;
}
