/** File ownership as the engine writes it: numeric ids, and the name a plan shows. */

/** Owner of a file or directory, by numeric id; `name` is how the plan shows it. */
export interface Owner {
  uid: number;
  gid: number;
  name: string;
}

/** root:root, the owner of nearly everything a node setup writes. */
export const ROOT: Owner = { uid: 0, gid: 0, name: "root:root" };
