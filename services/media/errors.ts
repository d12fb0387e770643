/** The job failed for a reason of the file (not of this process): the media is marked FAILED with it. */
export class JobFailed extends Error {
  override readonly name = "JobFailed";
}
