/**
 * The systemd unit `agora service install` writes (deploy/agora.service is
 * the same unit with the usual paths): the node as an unprivileged user,
 * restarted on failure, with a read-only system around it and only its
 * data dir writable.
 */

export interface ServiceUnitInit {
  /** The Node 24 binary. */
  node: string
  /** bin/agora.js of this installation. */
  cli: string
  user: string
  dataDir: string
}

export const DEFAULT_SERVICE_DATA_DIR = '/var/lib/agora'

export function serviceUnit (init: ServiceUnitInit): string {
  // under /var/lib the service manager creates and owns it; anywhere else it is only made writable
  const state = init.dataDir === DEFAULT_SERVICE_DATA_DIR ? 'StateDirectory=agora' : `ReadWritePaths=${init.dataDir}`
  return `# Agora as a system service. \`agora service install\` writes this unit with the
# paths of this machine filled in; by hand: copy it to /etc/systemd/system/,
# create the user (useradd --system --home ${init.dataDir} ${init.user}), then
# systemctl daemon-reload && systemctl enable --now agora
[Unit]
Description=Agora node: shares AI compute and agent work with its peers
Documentation=https://github.com/agora/agora/blob/main/docs/overview.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${init.user}
Group=${init.user}
${state}
Environment=AGORA_DATA_DIR=${init.dataDir}
ExecStart=${init.node} ${init.cli} start --log-format json
Restart=on-failure
RestartSec=5s
TimeoutStopSec=45s
# hardening: no privileges, a read-only system, only its own state dir writable
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
CapabilityBoundingSet=
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
SystemCallArchitectures=native
UMask=0077

[Install]
WantedBy=multi-user.target
`
}
