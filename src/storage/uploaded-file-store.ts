/**
 * Files a bot uploaded to its platform from a URL (VK: the attachment `photo-1_2` / `doc-1_3` of the
 * community), so a file sent to a thousand people is downloaded and uploaded once per connection.
 * A community's attachments stay valid, so entries are kept until the URL's file is uploaded afresh.
 */
export interface UploadedFileStore {
  /** The attachment uploaded before for this URL as this kind (photo / doc), if any. */
  get(key: UploadedFileKey): Promise<string | undefined>;
  put(key: UploadedFileKey, attachment: string): Promise<void>;
  /** Forgets one (the platform refused it): the next send uploads the file again. */
  forget(key: UploadedFileKey): Promise<void>;
}

export interface UploadedFileKey {
  platform: 'vk';
  /** The bot's connection name. */
  connection: string;
  url: string;
  /** How it was uploaded: the same URL as a photo and as a document are two uploads. */
  kind: string;
}
