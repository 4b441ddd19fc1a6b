for w in "random,rate=20M,area=64M" "seed"; do for fill in 0 1; do for i in 1 2 3; do
r=$(QMIG_XBZRLE_BULK_FILL=$fill /tmp/mig.sh "" "migrate_set_capability xbzrle on;migrate_set_parameter max-bandwidth 32M;migrate_set_parameter downtime-limit 50" 256M idle $w 2>&1 | grep -E "transferred ram|total time|RAM" | tr '\n' ' ')
echo "$w fill=$fill $r"; done; done; done
