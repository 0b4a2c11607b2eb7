/* Test driver for pycocotools maskApi.c (see README.md); our code, links against the upstream C file. */
/* stdin lines: "P h w n x0 y0 ..." (polygon set of one object; n polys each "k coords..."), "B h w x y w h" */
#include "maskApi.h"
#include <stdio.h>
#include <stdlib.h>
int main(){
  char kind[8]; unsigned long h,w;
  while(scanf("%7s %lu %lu",kind,&h,&w)==3){
    RLE out;
    if(kind[0]=='P'){
      int n; scanf("%d",&n); RLE *rs=malloc(sizeof(RLE)*n);
      for(int i=0;i<n;i++){ int k; scanf("%d",&k); double *xy=malloc(sizeof(double)*k);
        for(int j=0;j<k;j++) scanf("%lf",&xy[j]); rleFrPoly(&rs[i],xy,k/2,h,w); free(xy);}
      rleMerge(rs,&out,n,0);
    } else { double bb[4]; scanf("%lf %lf %lf %lf",&bb[0],&bb[1],&bb[2],&bb[3]); rleFrBbox(&out,bb,h,w,1); }
    uint a; double bb[4]; rleArea(&out,1,&a); rleToBbox(&out,bb,1);
    char *s=rleToString(&out);
    printf("%s %u %.17g %.17g %.17g %.17g\n",s,a,bb[0],bb[1],bb[2],bb[3]); free(s);
  }
}
