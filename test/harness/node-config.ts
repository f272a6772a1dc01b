// The test node's configuration files, as its parts read them: containerd 1.6 (config version 2),
// the CNI bridge, the kubelet, kube-proxy and the kubeconfigs. The addresses live here, once.
import { join } from 'node:path';

export const NODE_NAME = 'hzz-node';
/** The node's address, on the namespace's loopback device: kubelet refuses 127/8 as a node IP. */
export const NODE_IP = '10.88.0.2';
export const POD_CIDR = '10.244.0.0/24';
export const SERVICE_CIDR = '10.96.0.0/16';
export const DNS_IP = '10.96.0.10';
export const API_PORT = 6443;

export function kubeconfig(server: string, caData: string, user: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'hzz-node', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'hzz-node', context: { cluster: 'hzz-node', user: 'user' } }],
    'current-context': 'hzz-node',
  });
}

export function containerdConfig(root: string, cni: string, pauseImage: string): string {
  return `# containerd 1.6, config version 2, for the test node (test/harness/node-cluster.ts)
version = 2
root = "${root}/root"
state = "${root}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${root}/containerd.sock"
[ttrpc]
  address = "${root}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${root}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  # The VM lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own and
  # fails with "can't get final child's PID from pipe: EOF" unless the value is clamped.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # The machines mount cgroup v1 and run no systemd: the kubelet's cgroupfs driver matches.
        SystemdCgroup = false
        # runc's state beside containerd's, not in the machine's /run/containerd/runc.
        Root = "${root}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cni}/net.d"
`;
}

export function cniConfig(ipamDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'hzz-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: 'hzz0',
        isGateway: true,
        ipMasq: true,
        // A pod reaching itself through its Service comes back over the bridge port it left by.
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

export function kubeletConfig(dir: string, socket: string, pki: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // These machines mount cgroup v1, which kubelet 1.35+ refuses unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: `unix://${socket}`,
    address: NODE_IP,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    // kubectl logs/exec/cp arrive from the API server with its client certificate; anyone else is refused.
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: join(pki, 'kubelet-client-ca.crt') } },
    authorization: { mode: 'Webhook' },
    clusterDomain: 'cluster.local',
    clusterDNS: [DNS_IP],
    resolvConf: join(dir, 'resolv.conf'),
    failSwapOn: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    // The machine's disk is shared with everything else: evict only when it is really full.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    volumePluginDir: join(dir, 'kubelet-plugins'),
    shutdownGracePeriod: '0s',
  });
}

export function kubeProxyConfig(kubeconfigPath: string): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: kubeconfigPath },
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // conntrack's table size is the machine's, not the namespace's: leave it as it is.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}
