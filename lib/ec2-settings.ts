/** Settings of the EC2 instance created for an aws target (stack config, and the `Ec2Host` component's args). */
export interface Ec2Settings {
    /** EC2 instance type. */
    instanceType: string;
    /** Pinned AMI id; undefined = an Ubuntu 24.04 lookup that never replaces a running instance. */
    ami?: string;
    /** Root volume size in GiB. */
    rootVolumeGb: number;
    /** Subnet; undefined = the default VPC. */
    subnetId?: string;
    /** CIDRs allowed to SSH (the admin and the source server, which pushes the data). */
    adminCidrs: string[];
    /** Public half of the target's SSH key, installed as the EC2 key pair. */
    publicKey: string;
}
